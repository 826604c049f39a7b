/* The checks before a YAML input is loaded: see yamlcheck.h. */
#include "util/yamlcheck.h"

#include <yaml.h>

#include "util/text.h"

/* Line and column (1-based, in characters) of byte offset off. */
static void position(const char *text, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

/* The bytes YAML does not allow in a stream: C0 controls but tab, line feed and carriage
 * return, and DEL. */
static bool is_control(unsigned char c)
{
    return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F;
}

int stpm_yaml_precheck(const char *name, const char *what, const char *text, size_t len,
                       int max_depth, stpm_error *err)
{
    bool incomplete;
    size_t bad = stpm_utf8_valid_prefix(text, len, &incomplete), ctl = 0;
    while (ctl < bad && !is_control((unsigned char)text[ctl]))
        ctl++;
    if (ctl < bad) {
        int line, col;
        position(text, ctl, &line, &col);
        stpm_error_add_diag(err, name, line, col, NULL,
                            "a control character (0x%02x) is not allowed in YAML",
                            (unsigned char)text[ctl]);
        return stpm_error_set(err, STPM_EINPUT, "invalid %s %s", what, name);
    }
    if (bad < len) {
        int line, col;
        position(text, bad, &line, &col);
        stpm_error_add_diag(err, name, line, col, NULL,
                            "invalid UTF-8: the byte 0x%02x does not begin a character",
                            (unsigned char)text[bad]);
        int rc = stpm_error_set(err, STPM_EINPUT, "invalid %s %s", what, name);
        stpm_error_hint(err, "Save the file as UTF-8 (iconv -f GB18030 -t UTF-8 converts it).");
        return rc;
    }
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
    int rc = 0, depth = 0;
    for (bool done = false; !done;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev))
            break; /* the loader reports it */
        if (ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT) {
            if (++depth > max_depth) {
                stpm_error_add_diag(err, name, (int)ev.start_mark.line + 1,
                                    (int)ev.start_mark.column + 1, NULL,
                                    "nesting deeper than %d levels", max_depth);
                rc = stpm_error_set(err, STPM_EINPUT, "invalid %s %s", what, name);
                done = true;
            }
        } else if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT) {
            depth--;
        } else if (ev.type == YAML_STREAM_END_EVENT) {
            done = true;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return rc;
}
