/* veil node run: TCP portals (cli/portal.c, cli/portal_client.c). */
#ifndef VEIL_CLI_PORTAL_H
#define VEIL_CLI_PORTAL_H

#include "daemon.h"

/* [inlet.NAME] / [outlet.NAME]: keys, values (trust built when node is set). */
int portal_config_check(veil_node *node, const veil_config *cfg, const char *sec);
/* Start the portals of the configuration (outlets first). */
int daemon_portals_start(veil_daemon *d);
/* SIGHUP: check the new configuration's portal sections (trust built:
 * VEIL_ECONFIG naming file:line; nothing is applied then), then apply
 * them with d->cfg the new one: portals added, removed or changed are
 * started, stopped or restarted; unchanged ones (and those made by control
 * requests) keep running with their streams. */
int portal_reload_check(veil_daemon *d, const veil_config *fresh);
void portal_reload(veil_daemon *d, const veil_config *old);
/* The running outlets' names (listeners allow them). */
size_t portal_outlet_names(const char **out, size_t cap);
/* tcp-outlet-* and tcp-inlet-* requests (answered at once). */
bool portal_dispatch(struct ctl_client *c, veil_daemon *d, const char *verb, char *args);

#endif
