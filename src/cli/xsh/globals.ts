/**
 * cli/xsh/globals: the flags every xsh command accepts. Its own module so the commands can name
 * them without importing cli/xsh/program, which loads the commands (a circle otherwise).
 */

/** XshGlobals are xsh's flags valid before or after any subcommand. */
export interface XshGlobals {
  proxy?: string;
  user?: string;
  identity?: string;
  insecure?: boolean;
  debug?: boolean;
}
