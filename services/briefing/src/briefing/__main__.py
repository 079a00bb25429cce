from briefing.entrypoints.cli import main

raise SystemExit(main())
