"""The VBA project of ``workbook_template.xlsm``, built without Excel.

* :mod:`.ovba` -- MS-OVBA compression (Excel's own encoder, byte for byte);
* :mod:`.cfb` -- a minimal deterministic compound-file (OLE) writer;
* :mod:`.project` -- xlwings' standalone project with our ``KolayBi`` module (``KolayBi.bas``);
* :mod:`.vba_inspect` -- read a workbook's modules back as an independent reader would.
"""

from kolaybi_xl.vba.ovba import OvbaError, compress, decompress
from kolaybi_xl.vba.project import (
    KOLAYBI_MODULE,
    build_kolaybi_project,
    build_vba_project,
    module_source,
    xlwings_base_project,
)
from kolaybi_xl.vba.vba_inspect import (
    macro_names,
    project_modules,
    read_modules,
    runpython_commands,
    vba_project_bytes,
    xlwings_version,
)

__all__ = [
    "KOLAYBI_MODULE",
    "OvbaError",
    "build_kolaybi_project",
    "build_vba_project",
    "compress",
    "decompress",
    "macro_names",
    "module_source",
    "project_modules",
    "read_modules",
    "runpython_commands",
    "vba_project_bytes",
    "xlwings_base_project",
    "xlwings_version",
]
