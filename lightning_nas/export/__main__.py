from lightning_nas.export.exporter import main

raise SystemExit(main())
