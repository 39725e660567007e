// Entry point for `pulumi up`: every key the program returns is a stack output
// (target, url, healthUrl, plus the platform's own such as environmentName or imageUri).
import { program } from "./program";

export = program();
