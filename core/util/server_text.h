/* The server's messages in the user's language: see server_text.c. */
#ifndef STPM_UTIL_SERVER_TEXT_H
#define STPM_UTIL_SERVER_TEXT_H

/* text (a message, detail or hint the server raised, or a reason or check summary it
 * returned) in the user's language, in a new string; a copy of text when it matches no
 * known template or the template has no translation. NULL for NULL (and on OOM). */
char *stpm_server_text(const char *text);

#endif
