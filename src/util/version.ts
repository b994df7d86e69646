/**
 * version: the xport release, kept equal to package.json's by a unit test (reading package.json at
 * run time would cost xsh a file read on every start).
 */
export const VERSION = '0.1.0';
