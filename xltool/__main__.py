from xltool.cli import app

app(prog_name="xltool")
