package org.roadbranch.devstack.mongojava;

import java.util.List;
import java.util.concurrent.CountDownLatch;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

/**
 * mongo-java-server's in-memory backend on 127.0.0.1:PORT for the roadbranch dev stack.
 *
 * <p>The library's own main binds 27017 and reports wire version 8 (its newest ServerVersion), which
 * PyMongo 4.x refuses (it needs 9, MongoDB 4.4). This one reports 4.4.0 / wire 9 through the
 * backend's version(...) API; the version only changes what isMaster and buildInfo answer, not what
 * the server implements. Prints "ready" once it listens; SIGTERM shuts it down.
 */
public final class Main {
    /** The oldest version PyMongo 4.x accepts: claim no more than that. */
    static final MongoVersion VERSION = new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(4, 4, 0);
        }

        @Override
        public int getWireVersion() {
            return 9;
        }
    };

    private Main() {}

    public static void main(String[] args) throws InterruptedException {
        if (args.length != 1) {
            System.err.println("usage: Main PORT");
            System.exit(2);
        }
        int port = Integer.parseInt(args[0]);
        MongoServer server = new MongoServer(new MemoryBackend().version(VERSION));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.shutdown();
            stopped.countDown();
        }, "shutdown"));
        server.bind("127.0.0.1", port);
        System.out.println("mongo-java-server ready on 127.0.0.1:" + port + " (reports MongoDB "
                + VERSION.toVersionString() + ", wire " + VERSION.getWireVersion() + ")");
        System.out.flush();
        stopped.await();
    }
}
