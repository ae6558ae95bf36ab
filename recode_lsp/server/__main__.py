from recode_lsp.server.main import main

raise SystemExit(main())
