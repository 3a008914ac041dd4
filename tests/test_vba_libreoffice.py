"""KolayBi.bas and the template's buttons, checked by an independent reader: LibreOffice Basic
with VBA support (through python3-uno; skipped where LibreOffice or python3-uno is missing).

* Syntax: the module is compiled by LibreOffice's Basic compiler (``Option VBASupport 1``) in
  an application library; a probe function appended to it answers 42 only when the whole
  module compiled. A deliberately broken copy must not answer, so the probe proves something.
* Buttons: LibreOffice loads the committed template, imports its VBA project, and every form
  button's macro resolves to a script in the ``KolayBi`` module; a made-up name does not.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from kolaybi_xl.template import BUTTONS, TEMPLATE_PATH
from kolaybi_xl.vba import module_source

SOFFICE = shutil.which("soffice")
UNO_PYTHON = "/usr/bin/python3"


def _has_uno() -> bool:
    if not (SOFFICE and os.path.exists(UNO_PYTHON)):
        return False
    probe = subprocess.run([UNO_PYTHON, "-c", "import uno"], capture_output=True, check=False)
    return probe.returncode == 0


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not _has_uno(), reason="LibreOffice with python3-uno is not installed"),
]

SCRIPT = r"""
import json, subprocess, sys, time
import uno
from com.sun.star.beans import PropertyValue

profile, pipe, job_file = sys.argv[1:4]
job = json.load(open(job_file, encoding="utf-8"))
proc = subprocess.Popen(
    ["soffice", "-env:UserInstallation=" + uno.systemPathToFileUrl(profile), "--headless",
     "--invisible", "--norestore", "--nologo", "--accept=pipe,name=%s;urp;" % pipe],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
desktop = None
out = {"compiled": {}, "buttons": {}, "resolved": {}}
try:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(720):  # up to 3 minutes: a loaded machine starts soffice slowly
        try:
            ctx = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
            break
        except Exception:
            time.sleep(0.25)
    smgr = ctx.ServiceManager
    desktop = smgr.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)

    # 1. compile each source in an application Basic library; the probe answers when it did
    libs = smgr.createInstanceWithContext(
        "com.sun.star.script.ApplicationScriptLibraryContainer", ctx)
    factory = smgr.createInstanceWithContext(
        "com.sun.star.script.provider.MasterScriptProviderFactory", ctx)
    app_scripts = factory.createScriptProvider("")
    for index, (label, source) in enumerate(sorted(job["sources"].items())):
        name = "KxlCheck%d" % index
        if libs.hasByName(name):
            libs.removeLibrary(name)
        libs.createLibrary(name).insertByName("M", source)
        url = "vnd.sun.star.script:%s.M.KxlCompiled?language=Basic&location=application" % name
        try:
            out["compiled"][label] = app_scripts.getScript(url).invoke((), (), ())[0]
        except Exception as exc:
            out["compiled"][label] = "error: %r" % (exc,)

    # 2. the template as LibreOffice imports it: buttons and what their macros resolve to
    def prop(name, value):
        p = PropertyValue(); p.Name = name; p.Value = value; return p
    doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(job["workbook"]), "_blank", 0,
                                       (prop("Hidden", True), prop("MacroExecutionMode", 0)))
    for i in range(doc.Sheets.Count):
        forms = doc.Sheets.getByIndex(i).DrawPage.Forms
        for f in range(forms.Count):
            form = forms.getByIndex(f)
            for c in range(form.Count):
                for event in form.getScriptEvents(c):
                    out["buttons"][form.getByIndex(c).Label] = event.ScriptCode
    doc_scripts = doc.getScriptProvider()
    for url in [*out["buttons"].values(), job["made_up"]]:
        try:
            doc_scripts.getScript(url)
            out["resolved"][url] = True
        except Exception as exc:
            out["resolved"][url] = False
    doc.close(True)
finally:
    print(json.dumps(out))
    if desktop is not None:
        try:
            desktop.terminate()
        except Exception:
            pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
"""

PROBE = "\nFunction KxlCompiled() As Long\n    KxlCompiled = 42\nEnd Function\n"
MACRO_URL = "vnd.sun.star.script:VBAProject.KolayBi.{}?language=Basic&location=document"


@pytest.fixture(scope="module")
def libreoffice(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("lo")
    module = "Option VBASupport 1\n" + module_source()
    broken = module.replace("End Function", "End Functio", 1)
    job = {
        "sources": {"KolayBi.bas": module + PROBE, "broken": broken + PROBE},
        "workbook": str(TEMPLATE_PATH),
        "made_up": MACRO_URL.format("KolayBi_NoSuchMacro"),
    }
    (folder / "job.json").write_text(json.dumps(job), encoding="utf-8")
    (folder / "check.py").write_text(SCRIPT, encoding="utf-8")

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                UNO_PYTHON,
                str(folder / "check.py"),
                str(folder / f"profile-{uuid.uuid4().hex}"),
                f"kxl{uuid.uuid4().hex}",
                str(folder / "job.json"),
            ],
            capture_output=True,
            text=True,
            timeout=400,
            check=False,
        )

    done = check()
    if done.returncode != 0:  # LibreOffice's first start can fail on a busy machine: once more
        done = check()
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_libreoffice_basic_compiles_the_module(libreoffice: dict) -> None:
    assert libreoffice["compiled"]["KolayBi.bas"] == 42
    assert libreoffice["compiled"]["broken"] != 42  # the probe does see a syntax error


def test_libreoffice_resolves_every_buttons_macro(libreoffice: dict) -> None:
    expected = {caption: MACRO_URL.format(macro) for caption, macro in BUTTONS}
    assert libreoffice["buttons"] == expected
    assert "Kurulum Kontrolü" in libreoffice["buttons"]
    assert len(libreoffice["buttons"]) == 6
    assert libreoffice["buttons"]["Tahsilatı Geri Al"] == MACRO_URL.format(
        "KolayBi_TahsilatiGeriAl"
    )
    for url in expected.values():
        assert libreoffice["resolved"][url] is True, url
    assert libreoffice["resolved"][MACRO_URL.format("KolayBi_NoSuchMacro")] is False


def test_the_module_checks_the_interpreter_before_every_runpython() -> None:
    source = module_source()
    for line in source.splitlines():
        if "RunPython" in line and not line.lstrip().startswith("'"):
            assert line.strip().startswith("If KolayBi_PythonVar() Then RunPython "), line
    assert 'Worksheets("xlwings.conf")' in source
    assert '"INTERPRETER_WIN"' in source
    assert "kolaybi-xl doctor" in source
    assert len(source.splitlines()) < 80  # small: the machinery is Python's
    assert Path(TEMPLATE_PATH).exists()
