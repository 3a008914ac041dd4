"""``python -m kolaybi_xl.cli`` (as ``python -m kolaybi_xl``)."""

from . import main

raise SystemExit(main())
