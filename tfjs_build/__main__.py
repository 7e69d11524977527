"""``python -m tfjs_build`` runs the CLI."""

from tfjs_build.cli import main

raise SystemExit(main())
