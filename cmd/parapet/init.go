package main

import "io"

func cmdInit(args []string, stdout, stderr io.Writer) int { return 2 }
