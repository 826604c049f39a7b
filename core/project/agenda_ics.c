/* The agenda as an iCalendar file (RFC 5545): see stpm_agenda_ics in stpm/agenda.h.
 *
 * Each deadline is an all-day VEVENT (DTSTART;VALUE=DATE, DTEND the day after) with a
 * DISPLAY alarm. Its UID names the project and the deadline, not the date: a deadline
 * that moves (an extension) or becomes overdue keeps its UID, so a calendar that imports
 * the file again updates the event instead of adding a second one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stpm/agenda.h"
#include "util/strutil.h"

/* Append one content line, folded at 75 octets (RFC 5545 §3.1) without splitting a UTF-8
 * sequence, ended by CRLF. */
static void put_line(stpm_strbuf *sb, const char *line)
{
    size_t len = strlen(line), used = 0, limit = 75;
    while (len - used > limit) {
        size_t cut = used + limit;
        while (cut > used && ((unsigned char)line[cut] & 0xC0) == 0x80)
            cut--; /* back to the start of a character */
        stpm_strbuf_putn(sb, line + used, cut - used);
        stpm_strbuf_puts(sb, "\r\n ");
        used = cut;
        limit = 74; /* the leading space counts */
    }
    stpm_strbuf_puts(sb, line + used);
    stpm_strbuf_puts(sb, "\r\n");
}

/* Append s as TEXT (§3.3.11): backslash, semicolon and comma escaped, newlines as \n,
 * other control characters dropped. */
static void put_text(stpm_strbuf *sb, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\\' || c == ';' || c == ',') {
            stpm_strbuf_putc(sb, '\\');
            stpm_strbuf_putc(sb, (char)c);
        } else if (c == '\n') {
            stpm_strbuf_puts(sb, "\\n");
        } else if (c >= 0x20 && c != 0x7f) {
            stpm_strbuf_putc(sb, (char)c);
        }
    }
}

/* A property NAME:TEXT as one folded line. */
static void put_prop(stpm_strbuf *out, const char *name, const char *text)
{
    stpm_strbuf line = STPM_STRBUF_INIT;
    stpm_strbuf_puts(&line, name);
    stpm_strbuf_putc(&line, ':');
    put_text(&line, text);
    if (line.oom)
        out->oom = true;
    else
        put_line(out, stpm_strbuf_str(&line));
    stpm_strbuf_free(&line);
}

/* The UID: project, deadline group and what it is about; characters outside [A-Za-z0-9-_.]
 * become '_' so that every client takes it as it is. */
static void put_uid(stpm_strbuf *out, const stpm_agenda_item *it)
{
    stpm_strbuf uid = STPM_STRBUF_INIT;
    const char *group = it->kind == STPM_DEADLINE_TIMER   ? "timer"
                        : it->kind == STPM_DEADLINE_CHECK ? "check"
                                                          : "due";
    stpm_strbuf_printf(&uid, "UID:%s.%s.%s.%s", it->code, group, it->state,
                       it->what ? it->what : "deadline");
    char *s = uid.oom ? NULL : uid.buf;
    for (char *p = s ? s + 4 : NULL; p && *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            *p = '_';
    }
    stpm_strbuf_puts(&uid, "@stpm");
    if (uid.oom)
        out->oom = true;
    else
        put_line(out, stpm_strbuf_str(&uid));
    stpm_strbuf_free(&uid);
}

static void ics_date(stpm_date d, char out[16])
{
    int y, m, day;
    stpm_date_to_ymd(d, &y, &m, &day);
    snprintf(out, 16, "%04d%02d%02d", y, m, day);
}

static void put_event(stpm_strbuf *out, const stpm_agenda_item *it, int alarm_days,
                      const char *stamp)
{
    char d0[16], d1[16], buf[64];
    stpm_strbuf summary = STPM_STRBUF_INIT, desc = STPM_STRBUF_INIT;
    ics_date(it->due, d0);
    ics_date(it->due + 1, d1);
    put_line(out, "BEGIN:VEVENT");
    put_uid(out, it);
    snprintf(buf, sizeof(buf), "DTSTAMP:%s", stamp);
    put_line(out, buf);
    snprintf(buf, sizeof(buf), "DTSTART;VALUE=DATE:%s", d0);
    put_line(out, buf);
    snprintf(buf, sizeof(buf), "DTEND;VALUE=DATE:%s", d1);
    put_line(out, buf);
    stpm_strbuf_printf(&summary, "%s%s：%s %s", it->overdue ? "【逾期】" : "", it->label, it->code,
                       it->title ? it->title : "");
    put_prop(out, "SUMMARY", stpm_strbuf_str(&summary));
    stpm_strbuf_printf(&desc, "项目 %s（%s）\n状态：%s\n期限：%s\n办理：%s\n命令：%s", it->code,
                       it->plan ? it->plan : "", it->state_label, it->label,
                       *it->todo ? it->todo : "-", *it->command ? it->command : "-");
    put_prop(out, "DESCRIPTION", stpm_strbuf_str(&desc));
    put_prop(out, "CATEGORIES", it->overdue ? "stpm,overdue" : "stpm");
    put_line(out, "TRANSP:TRANSPARENT");
    put_line(out, "BEGIN:VALARM");
    put_line(out, "ACTION:DISPLAY");
    snprintf(buf, sizeof(buf), "TRIGGER:-P%dD", alarm_days);
    put_line(out, buf);
    put_prop(out, "DESCRIPTION", stpm_strbuf_str(&summary));
    put_line(out, "END:VALARM");
    put_line(out, "END:VEVENT");
    if (summary.oom || desc.oom)
        out->oom = true;
    stpm_strbuf_free(&summary);
    stpm_strbuf_free(&desc);
}

int stpm_agenda_ics(const stpm_agenda *a, int alarm_days, const char *stamp, char **out,
                    stpm_error *err)
{
    stpm_strbuf sb = STPM_STRBUF_INIT;
    int rc = 0;
    *out = NULL;
    put_line(&sb, "BEGIN:VCALENDAR");
    put_line(&sb, "VERSION:2.0");
    put_line(&sb, "PRODID:-//stpm//agenda//ZH");
    put_line(&sb, "CALSCALE:GREGORIAN");
    put_line(&sb, "METHOD:PUBLISH");
    put_prop(&sb, "X-WR-CALNAME", "stpm 项目期限");
    for (size_t i = 0; i < a->n; i++)
        put_event(&sb, &a->items[i], alarm_days, stamp);
    put_line(&sb, "END:VCALENDAR");
    if (sb.oom) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    *out = stpm_strbuf_detach(&sb);
cleanup:
    stpm_strbuf_free(&sb);
    return rc;
}
