// Command ferretdb runs FerretDB 1.24 with the SQLite handler for roadbranch's local dev stack.
//
// It embeds github.com/FerretDB/FerretDB/ferretdb instead of installing FerretDB's own command,
// whose build reads a version file that a module download does not carry.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	dataDir := flag.String("data-dir", "data", "directory holding the SQLite databases")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	// SQLite's synchronous setting: "full" (SQLite's default) syncs the write-ahead log to disk at
	// every commit; "normal" only at checkpoints, which a crash of the process cannot undo (only one
	// of the whole machine could lose the last commits). The dev stack's data is thrown away.
	synchronous := flag.String("synchronous", "full", "full or normal")
	flag.Parse()

	if *synchronous != "full" && *synchronous != "normal" {
		fmt.Fprintf(os.Stderr, "bad -synchronous: %q (full or normal)\n", *synchronous)
		os.Exit(2)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "bad -log-level: %v\n", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		fmt.Fprintf(os.Stderr, "cannot create data dir: %v\n", err)
		os.Exit(1)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + *dataDir + "/?_pragma=synchronous(" + *synchronous + ")",
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot start FerretDB: %v\n", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	logger.Info("listening", "addr", *listen)
	if err := f.Run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "FerretDB stopped: %v\n", err)
		os.Exit(1)
	}
}
