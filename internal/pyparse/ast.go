package pyparse

// Pos is where a node starts: 1-based line, 0-based column.
type Pos struct {
	Line, Col int
}

// Position returns the node's position.
func (p Pos) Position() Pos { return p }

// Node is any syntax node.
type Node interface{ Position() Pos }

// Expr is an expression node.
type Expr interface {
	Node
	expr()
}

// Stmt is a statement node.
type Stmt interface {
	Node
	stmt()
}

// Expressions.
type (
	// Name is an identifier.
	Name struct {
		Pos
		ID string
	}
	// Const is a literal: Kind is "str", "bytes", "int", "float",
	// "complex", "bool", "None" or "...". Str holds a string's decoded
	// value (implicitly concatenated literals joined) and Raw the number's
	// or keyword's text.
	Const struct {
		Pos
		Kind string
		Str  string
		Raw  string
		Bool bool
	}
	// FString is an f-string (possibly concatenated with plain strings):
	// Parts alternate literal text (Const) and the fields' expressions.
	FString struct {
		Pos
		Parts []Expr
	}
	// Attribute is X.Name.
	Attribute struct {
		Pos
		X    Expr
		Name string
	}
	// Subscript is X[Index] (a slice or tuple of them in Index).
	Subscript struct {
		Pos
		X     Expr
		Index Expr
	}
	// Slice is lo:hi:step inside a subscript.
	Slice struct {
		Pos
		Lo, Hi, Step Expr
	}
	// Call is Func(Args..., Keywords...).
	Call struct {
		Pos
		Func     Expr
		Args     []Expr // *x appears as Starred
		Keywords []Keyword
	}
	// BinOp is L Op R for arithmetic and bitwise operators.
	BinOp struct {
		Pos
		Op   string
		L, R Expr
	}
	// UnaryOp is Op X ("-", "+", "~", "not").
	UnaryOp struct {
		Pos
		Op string
		X  Expr
	}
	// BoolOp is Values joined by "and" or "or".
	BoolOp struct {
		Pos
		Op     string
		Values []Expr
	}
	// Compare is L Ops[0] Rs[0] Ops[1] Rs[1]...; ops include "not in", "is not".
	Compare struct {
		Pos
		L   Expr
		Ops []string
		Rs  []Expr
	}
	// IfExp is Body if Test else Else.
	IfExp struct {
		Pos
		Test, Body, Else Expr
	}
	// Lambda is lambda Params: Body.
	Lambda struct {
		Pos
		Params []Param
		Body   Expr
	}
	// List, Tuple and Set are displays.
	List struct {
		Pos
		Elts []Expr
	}
	Tuple struct {
		Pos
		Elts []Expr
	}
	Set struct {
		Pos
		Elts []Expr
	}
	// Dict is {k: v, **m}; a nil key is a ** unpacking.
	Dict struct {
		Pos
		Keys   []Expr
		Values []Expr
	}
	// Comp is a comprehension: Kind "list", "set", "dict", "gen". Key is
	// set for dict comprehensions.
	Comp struct {
		Pos
		Kind string
		Key  Expr
		Elt  Expr
		Fors []CompFor
	}
	// NamedExpr is Target := Value.
	NamedExpr struct {
		Pos
		Target *Name
		Value  Expr
	}
	// Starred is *X (or **X in a call's arguments, with Double set).
	Starred struct {
		Pos
		X      Expr
		Double bool
	}
	// Await is await X.
	Await struct {
		Pos
		X Expr
	}
	// Yield is yield X, or yield from X (From set).
	Yield struct {
		Pos
		X    Expr
		From bool
	}
)

// Keyword is name=value in a call; Name is "" for **value.
type Keyword struct {
	Pos
	Name  string
	Value Expr
}

// CompFor is one for clause of a comprehension with its ifs.
type CompFor struct {
	Target Expr
	Iter   Expr
	Ifs    []Expr
}

// Param is a parameter of a def or lambda.
type Param struct {
	Pos
	Name       string
	Kind       string // "" (ordinary), "*", "**"
	Annotation Expr
	Default    Expr
}

func (*Name) expr()      {}
func (*Const) expr()     {}
func (*FString) expr()   {}
func (*Attribute) expr() {}
func (*Subscript) expr() {}
func (*Slice) expr()     {}
func (*Call) expr()      {}
func (*BinOp) expr()     {}
func (*UnaryOp) expr()   {}
func (*BoolOp) expr()    {}
func (*Compare) expr()   {}
func (*IfExp) expr()     {}
func (*Lambda) expr()    {}
func (*List) expr()      {}
func (*Tuple) expr()     {}
func (*Set) expr()       {}
func (*Dict) expr()      {}
func (*Comp) expr()      {}
func (*NamedExpr) expr() {}
func (*Starred) expr()   {}
func (*Await) expr()     {}
func (*Yield) expr()     {}

// Statements.
type (
	// Assign is Targets[0] = Targets[1] = ... = Value.
	Assign struct {
		Pos
		Targets []Expr
		Value   Expr
	}
	// AugAssign is Target Op= Value (Op without the "=").
	AugAssign struct {
		Pos
		Target Expr
		Op     string
		Value  Expr
	}
	// AnnAssign is Target: Annotation [= Value].
	AnnAssign struct {
		Pos
		Target     Expr
		Annotation Expr
		Value      Expr // nil without a value
	}
	// ExprStmt is an expression on its own (a call, a docstring).
	ExprStmt struct {
		Pos
		X Expr
	}
	// Import is import a.b [as c], ...
	Import struct {
		Pos
		Names []Alias
	}
	// ImportFrom is from [.]*Module import names (Star for *).
	ImportFrom struct {
		Pos
		Module string
		Level  int
		Names  []Alias
		Star   bool
	}
	// If is if/elif/else; an elif is an If alone in Else.
	If struct {
		Pos
		Test Expr
		Body []Stmt
		Else []Stmt
	}
	// For is for Target in Iter: Body else: Else.
	For struct {
		Pos
		Target Expr
		Iter   Expr
		Body   []Stmt
		Else   []Stmt
	}
	// While is while Test: Body else: Else.
	While struct {
		Pos
		Test Expr
		Body []Stmt
		Else []Stmt
	}
	// Try is try/except/else/finally.
	Try struct {
		Pos
		Body     []Stmt
		Handlers []Handler
		Else     []Stmt
		Finally  []Stmt
	}
	// With is with Items: Body.
	With struct {
		Pos
		Items []WithItem
		Body  []Stmt
	}
	// FuncDef is def Name(Params): Body, with its decorators.
	FuncDef struct {
		Pos
		Name       string
		Params     []Param
		Returns    Expr
		Body       []Stmt
		Decorators []Expr
		Async      bool
	}
	// ClassDef is class Name(Bases, Keywords): Body.
	ClassDef struct {
		Pos
		Name       string
		Bases      []Expr
		Keywords   []Keyword
		Body       []Stmt
		Decorators []Expr
	}
	// Return is return [Value].
	Return struct {
		Pos
		Value Expr
	}
	// Simple is a statement with only expressions: "pass", "break",
	// "continue", "raise", "del", "assert", "global", "nonlocal".
	Simple struct {
		Pos
		Keyword string
		Exprs   []Expr
		Names   []string
	}
	// BadStmt is a statement not modelled (match, type) or not parsed;
	// Reason says which. Its block, if any, was skipped.
	BadStmt struct {
		Pos
		Reason string
	}
)

// Alias is a name imported, with its "as" name ("" when none).
type Alias struct {
	Pos
	Name   string
	AsName string
}

// Handler is an except clause.
type Handler struct {
	Pos
	Type Expr // nil for a bare except
	Name string
	Body []Stmt
}

// WithItem is Context [as Var].
type WithItem struct {
	Context Expr
	Var     Expr
}

func (*Assign) stmt()     {}
func (*AugAssign) stmt()  {}
func (*AnnAssign) stmt()  {}
func (*ExprStmt) stmt()   {}
func (*Import) stmt()     {}
func (*ImportFrom) stmt() {}
func (*If) stmt()         {}
func (*For) stmt()        {}
func (*While) stmt()      {}
func (*Try) stmt()        {}
func (*With) stmt()       {}
func (*FuncDef) stmt()    {}
func (*ClassDef) stmt()   {}
func (*Return) stmt()     {}
func (*Simple) stmt()     {}
func (*BadStmt) stmt()    {}

// Module is a parsed file.
type Module struct {
	Body []Stmt
	// Errors are the syntax errors found (each statement in error is a
	// BadStmt in Body); a file with errors is still read as far as it goes.
	Errors []error
}
