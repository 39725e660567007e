// Entry point for `pulumi up`: every key the program returns is a stack output
// (the operations contract of program.ts, the same keys on every target: docs/operate.md).
import { program } from "./program";

export = program();
