from local_runtime.hub import main

raise SystemExit(main())
