from lightning_nas.export.cli import main

raise SystemExit(main())
