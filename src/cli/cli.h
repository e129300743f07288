/*
 * cli: the command line's verbs (DESIGN.md "Command line", a contract).
 *
 *   buzon -c FILE serve
 *   buzon -c FILE user add|passwd ADDRESS     (password: one line on stdin)
 *   buzon -c FILE user del ADDRESS
 *   buzon -c FILE user list
 *   buzon -c FILE user quota ADDRESS [STORAGE_KB MESSAGES]
 *   buzon -c FILE queue list|flush|delete ID
 *   buzon -c FILE shared create|delete NAME, shared list, shared acl NAME ID RIGHTS
 *   buzon -c FILE db migrate
 *
 * Each returns the process exit status (0 success, 1 failure after printing
 * the reason to stderr, 2 usage error).
 */
#ifndef BUZON_CLI_H
#define BUZON_CLI_H

#include "core/config.h"

/* Run the server in the foreground until SIGTERM/SIGINT. */
int cli_serve(const struct config *config);
/* argv[0] is "user"; argv[1] the sub-command. */
int cli_user(const struct config *config, int argc, char **argv);
/* argv[0] is "deliver": [-f SENDER] RCPT...; message on stdin. Returns a
 * sendmail exit code (<sysexits.h>). */
int cli_deliver(const struct config *config, int argc, char **argv);
/* argv[0] is "shared": the public folders (shared.c). */
int cli_shared(const struct config *config, int argc, char **argv);
/* argv[0] is "queue"; argv[1] list, flush or delete (argv[2] the ID). */
int cli_queue(const struct config *config, int argc, char **argv);
/* argv[0] is "db"; argv[1] migrate (db.c). */
int cli_db(const struct config *config, int argc, char **argv);

#endif
