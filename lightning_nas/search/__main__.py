from lightning_nas.search.engine import main

raise SystemExit(main())
