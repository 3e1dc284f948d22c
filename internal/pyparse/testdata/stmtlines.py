"""Prints, for each Python file named on the command line, its statements
as "path:line:Kind" lines (every statement, nested ones included), with
the kind names pyparse uses, so the Go tests can compare the two parsers."""
import ast
import sys

KINDS = {
    ast.Assign: "Assign", ast.AugAssign: "AugAssign", ast.AnnAssign: "AnnAssign",
    ast.Expr: "ExprStmt", ast.Import: "Import", ast.ImportFrom: "ImportFrom",
    ast.If: "If", ast.For: "For", ast.AsyncFor: "For", ast.While: "While",
    ast.Try: "Try", ast.With: "With", ast.AsyncWith: "With",
    ast.FunctionDef: "FuncDef", ast.AsyncFunctionDef: "FuncDef", ast.ClassDef: "ClassDef",
    ast.Return: "Return",
}
if hasattr(ast, "TryStar"):
    KINDS[ast.TryStar] = "Try"
if hasattr(ast, "Match"):
    KINDS[ast.Match] = "BadStmt"

for path in sys.argv[1:]:
    with open(path, "rb") as f:
        src = f.read()
    try:
        tree = ast.parse(src, path)
    except (SyntaxError, ValueError):
        print(path + ":0:unparsable")
        continue

    def walk(body):
        for s in body:
            kind = KINDS.get(type(s), "Simple")
            line = s.lineno
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and s.decorator_list:
                line = s.decorator_list[0].lineno
            print("%s:%d:%s" % (path, line, kind))
            if kind == "BadStmt":
                continue
            for field in ("body", "orelse", "finalbody"):
                sub = getattr(s, field, None)
                if isinstance(sub, list):
                    walk(sub)
            for h in getattr(s, "handlers", []) or []:
                walk(h.body)

    walk(tree.body)
