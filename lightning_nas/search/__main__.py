from lightning_nas.search.cli import main

raise SystemExit(main())
