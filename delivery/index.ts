// Entry point for `pulumi up` in delivery/: the outputs name each stack's deploy role and the one
// config line each app stack needs.
import { delivery } from "./program";

export = delivery();
