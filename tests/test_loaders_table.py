"""The panel's folder-to-loader table is the server's: a Library drag and a finished job agree."""

from __future__ import annotations

import re
from pathlib import Path

from comfyui_phoenix.loaders import CORE_LOADERS, FOLDER_LOADERS

TABLE = Path(__file__).resolve().parents[1] / "web" / "lib" / "loaders.js"
ROW = re.compile(r'^\s+(\w+): \{ type: "(\w+)", widget: "(\w+)" \},$', re.M)


def test_the_panel_s_folder_loaders_are_the_server_s() -> None:
    rows = {folder: (node, widget) for folder, node, widget in ROW.findall(TABLE.read_text())}
    expected = {folder: (node, CORE_LOADERS[node][0]) for folder, node in FOLDER_LOADERS.items()}
    assert rows == expected
