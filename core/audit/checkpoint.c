/* Signed checkpoints of every chain head (Ed25519, OpenSSL EVP): see stpm/audit.h and
 * docs/audit.md for the file's form.
 *
 *   stpm-checkpoint 1
 *   made_at 2021-03-01T08:00:00Z
 *   made_by auditor_wang
 *   chains 3
 *   events 17
 *   public_key <base64 of the raw 32-byte Ed25519 public key>
 *   head <chain> <seq> <hash>          (one per chain, chains in byte order)
 *   digest <SHA-256 of the head lines, hex>
 *   signature <base64 Ed25519 signature of every byte before this line>
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit_internal.h"
#include "audit/chain.h"
#include "store/digest.h"
#include "store/query.h"
#include "util/readfile.h"

#define CHECK_BATCH 5000

int stpm_audit_keygen(const char *path, const char *pub_path, stpm_error *err)
{
    EVP_PKEY *key = NULL;
    FILE *f = NULL, *pf = NULL;
    int rc = 0, fd = -1;
    if (!(key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"))) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot generate an Ed25519 key (OpenSSL)");
        goto cleanup;
    }
    if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0) {
        rc = stpm_error_set(err, errno == EEXIST ? STPM_ECONFLICT : STPM_ERROR,
                            "cannot create key file %s: %s", path, strerror(errno));
        if (errno == EEXIST)
            stpm_error_hint(err, "A key file is never overwritten; choose another name.");
        goto cleanup;
    }
    if (!(f = fdopen(fd, "w"))) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot write key file %s: %s", path, strerror(errno));
        goto cleanup;
    }
    fd = -1;
    if (PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot write key file %s", path);
        goto cleanup;
    }
    if (pub_path) {
        if (!(pf = fopen(pub_path, "w")) || PEM_write_PUBKEY(pf, key) != 1) {
            rc = stpm_error_set(err, STPM_ERROR, "cannot write public key file %s", pub_path);
            goto cleanup;
        }
    }
cleanup:
    if (f && fclose(f) != 0 && rc == 0)
        rc = stpm_error_set(err, STPM_ERROR, "cannot write key file %s: %s", path, strerror(errno));
    if (pf && fclose(pf) != 0 && rc == 0)
        rc = stpm_error_set(err, STPM_ERROR, "cannot write public key file %s", pub_path);
    if (fd >= 0)
        close(fd);
    EVP_PKEY_free(key);
    return rc;
}

static char *b64(const unsigned char *d, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, d, (int)n);
    return out;
}

/* Decode base64 s into out (at most cap bytes); the decoded length, or -1. */
static int unb64(const char *s, unsigned char *out, size_t cap)
{
    size_t len = strlen(s);
    if (len == 0 || len % 4 != 0 || len / 4 * 3 > cap + 2)
        return -1;
    unsigned char tmp[256];
    if (len / 4 * 3 > sizeof(tmp))
        return -1;
    int n = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)len);
    if (n < 0)
        return -1;
    if (s[len - 1] == '=')
        n--;
    if (s[len - 2] == '=')
        n--;
    if ((size_t)n > cap)
        return -1;
    memcpy(out, tmp, (size_t)n);
    return n;
}

/* A key file opened for reading in *f (a regular file only: a FIFO is never waited for);
 * 0 or a negative code with err set. */
static int open_key(const char *path, const char *what, FILE **f, stpm_error *err)
{
    int fd = -1, rc = stpm_open_input(path, what, &fd, err);
    *f = NULL;
    if (rc < 0)
        return rc;
    if (!(*f = fdopen(fd, "r"))) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot read %s \"%s\": %s", what, path,
                            strerror(errno));
        close(fd);
    }
    return rc;
}

static EVP_PKEY *read_private_key(const char *path, stpm_error *err)
{
    FILE *f = NULL;
    if (open_key(path, _("key file"), &f, err) < 0)
        return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!k || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(k);
        stpm_error_set(err, STPM_EINPUT, "key file %s does not hold an Ed25519 private key", path);
        stpm_error_hint(err, "Make one with `stpm audit checkpoint --generate-key --key FILE`.");
        return NULL;
    }
    return k;
}

static void heads_digest(const PGresult *r, char out[65], stpm_strbuf *body)
{
    stpm_strbuf lines = STPM_STRBUF_INIT;
    for (int i = 0; i < PQntuples(r); i++)
        stpm_strbuf_printf(&lines, "head %s %s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                           PQgetvalue(r, i, 2));
    if (!lines.oom && stpm_sha256_hex(stpm_strbuf_str(&lines), lines.len, out))
        stpm_strbuf_putn(body, stpm_strbuf_str(&lines), lines.len);
    else
        body->oom = true;
    stpm_strbuf_free(&lines);
}

int stpm_audit_checkpoint(stpm_db *db, const char *key_path, const char *out_path,
                          stpm_audit_checkpoint_info *info, stpm_error *err)
{
    EVP_PKEY *key = NULL;
    EVP_MD_CTX *md = NULL;
    PGresult *heads = NULL, *meta = NULL;
    stpm_strbuf body = STPM_STRBUF_INIT;
    char *pub64 = NULL, *sig64 = NULL, *tmp = NULL, *pem = NULL;
    unsigned char pub[32], sig[64];
    size_t publen = sizeof(pub), siglen = sizeof(sig);
    FILE *f = NULL;
    BIO *bio = NULL;
    int rc = 0;
    memset(info, 0, sizeof(*info));
    if (!(key = read_private_key(key_path, err))) {
        rc = err ? err->code : STPM_EINPUT;
        goto cleanup;
    }
    if ((rc = audit_begin_snapshot(db, err)) < 0)
        goto cleanup;
    if ((rc = stpm_query(
             db, "SELECT chain, seq, hash FROM stpm.chain_heads ORDER BY chain COLLATE \"C\"", 0,
             NULL, &heads, "cannot read the chain heads", err)) < 0 ||
        (rc = stpm_query(db,
                         "SELECT to_char(now(), 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), session_user,"
                         " pg_has_role(session_user, 'stpm_admin', 'MEMBER')",
                         0, NULL, &meta, "cannot read the chain heads", err)) < 0) {
        stpm_query_rollback(db);
        goto cleanup;
    }
    if ((rc = stpm_query_simple(db, "COMMIT", "cannot read the chain heads", err)) < 0)
        goto cleanup;
    info->chains = (uint64_t)PQntuples(heads);
    for (int i = 0; i < PQntuples(heads); i++)
        info->events += (uint64_t)strtoull(PQgetvalue(heads, i, 1), NULL, 10);
    if (EVP_PKEY_get_raw_public_key(key, pub, &publen) != 1 || !(pub64 = b64(pub, publen))) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot read the public key (OpenSSL)");
        goto cleanup;
    }
    stpm_strbuf_printf(&body,
                       "stpm-checkpoint 1\nmade_at %s\nmade_by %s\nchains %llu\nevents %llu\n"
                       "public_key %s\n",
                       PQgetvalue(meta, 0, 0), PQgetvalue(meta, 0, 1),
                       (unsigned long long)info->chains, (unsigned long long)info->events, pub64);
    heads_digest(heads, info->digest, &body);
    stpm_strbuf_printf(&body, "digest %s\n", info->digest);
    if (body.oom) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    if (!(md = EVP_MD_CTX_new()) || EVP_DigestSignInit(md, NULL, NULL, NULL, key) != 1 ||
        EVP_DigestSign(md, sig, &siglen, (const unsigned char *)body.buf, body.len) != 1 ||
        !(sig64 = b64(sig, siglen))) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot sign the checkpoint (OpenSSL)");
        goto cleanup;
    }
    stpm_strbuf_printf(&body, "signature %s\n", sig64);
    /* Written beside the target, then renamed: the file is whole or absent. */
    if (!(tmp = stpm_asprintf("%s.tmp", out_path)) || body.oom) {
        rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        goto cleanup;
    }
    if (!(f = fopen(tmp, "w")) || fwrite(body.buf, 1, body.len, f) != body.len || fflush(f) != 0 ||
        fsync(fileno(f)) != 0) {
        rc = stpm_error_set(err, STPM_ERROR, "cannot write checkpoint %s: %s", out_path,
                            strerror(errno));
        goto cleanup;
    }
    if (fclose(f) != 0 || (f = NULL, rename(tmp, out_path) != 0)) {
        f = NULL;
        rc = stpm_error_set(err, STPM_ERROR, "cannot write checkpoint %s: %s", out_path,
                            strerror(errno));
        goto cleanup;
    }
    /* An administrator's checkpoint is recorded; an auditor writes nothing in the database. */
    if (strcmp(PQgetvalue(meta, 0, 2), "t") == 0) {
        BUF_MEM *mem = NULL;
        if (!(bio = BIO_new(BIO_s_mem())) || PEM_write_bio_PUBKEY(bio, key) != 1) {
            rc = stpm_error_set(err, STPM_ERROR, "cannot write the public key (OpenSSL)");
            goto cleanup;
        }
        BIO_get_mem_ptr(bio, &mem);
        if (!(pem = stpm_strndup(mem->data, mem->length))) {
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
            goto cleanup;
        }
        char nchains[24], nevents[24];
        snprintf(nchains, sizeof(nchains), "%llu", (unsigned long long)info->chains);
        snprintf(nevents, sizeof(nevents), "%llu", (unsigned long long)info->events);
        const char *p[] = {nchains, nevents, info->digest, pem, sig64};
        /* stpm.checkpoint_record (migrations/072); made_by is the session's user. */
        if ((rc = stpm_query_call(
                 db, "SELECT stpm.checkpoint_record($1::bigint, $2::bigint, $3, $4, $5)", 5, p,
                 NULL, "cannot record the checkpoint", err)) < 0)
            goto cleanup;
        info->recorded = true;
    }
cleanup:
    if (f) {
        fclose(f);
        if (tmp)
            unlink(tmp);
    }
    BIO_free(bio);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    PQclear(heads);
    PQclear(meta);
    stpm_strbuf_free(&body);
    free(pub64);
    free(sig64);
    free(tmp);
    free(pem);
    return rc;
}

void audit_checkpoint_free(audit_checkpoint *cp)
{
    if (!cp)
        return;
    free(cp->text);
    free(cp->chains);
    free(cp->seqs);
    free(cp->hashes);
    free(cp);
}

static int malformed(const char *path, int line, const char *what, stpm_error *err)
{
    stpm_error_set(err, STPM_EINPUT, "checkpoint %s is malformed", path);
    stpm_error_add_diag(err, path, line, 0, NULL, "%s", _(what));
    return STPM_EINPUT;
}

/* Read a whole checkpoint file into a NUL-terminated buffer. */
static int slurp(const char *path, char **out, size_t *len, stpm_error *err)
{
    return stpm_read_file(path, "checkpoint", (size_t)1 << 30, out, len, err);
}

/* Verify the signature of text[0..signed_len) with the raw public key. */
static bool signature_ok(const unsigned char pub[32], const char *text, size_t signed_len,
                         const unsigned char *sig, size_t siglen)
{
    EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = k && md && EVP_DigestVerifyInit(md, NULL, NULL, NULL, k) == 1 &&
              EVP_DigestVerify(md, sig, siglen, (const unsigned char *)text, signed_len) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(k);
    return ok;
}

/* The raw public key in a PEM file; 0 or a negative code. */
static int pinned_key(const char *path, unsigned char out[32], stpm_error *err)
{
    FILE *f = NULL;
    int rc = open_key(path, _("public key"), &f, err);
    if (rc < 0)
        return rc;
    EVP_PKEY *k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    size_t len = 32;
    if (!k || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519 ||
        EVP_PKEY_get_raw_public_key(k, out, &len) != 1 || len != 32)
        rc = stpm_error_set(err, STPM_EINPUT, "%s does not hold an Ed25519 public key (PEM)", path);
    EVP_PKEY_free(k);
    return rc;
}

int audit_checkpoint_read(const char *path, const char *pubkey_path, audit_checkpoint **out,
                          stpm_error *err)
{
    *out = NULL;
    audit_checkpoint *cp = calloc(1, sizeof(*cp));
    size_t len = 0, cap = 0;
    unsigned char pub[32], pin[32], sig[64];
    int rc = 0, siglen = -1;
    bool have_pub = false;
    char digest[65] = "", want_digest[65] = "";
    if (!cp)
        return stpm_error_set(err, STPM_ERROR, "out of memory");
    if ((rc = slurp(path, &cp->text, &len, err)) < 0)
        goto cleanup;
    /* The signature line is the last line; it signs every byte before it. */
    char *sl = NULL;
    for (char *p = cp->text; (p = strstr(p, "signature ")) != NULL; p++)
        if (p == cp->text || p[-1] == '\n')
            sl = p;
    if (strncmp(cp->text, "stpm-checkpoint 1\n", 18) != 0 || !sl) {
        rc = malformed(path, 1, "not an stpm checkpoint (version 1) with a signature line", err);
        goto cleanup;
    }
    size_t signed_len = (size_t)(sl - cp->text);
    char *sigtxt = sl + 10, *nl = strchr(sigtxt, '\n');
    if (!nl || nl[1] != '\0') {
        rc = malformed(path, 0, "the signature line must be the last line", err);
        goto cleanup;
    }
    *nl = '\0';
    if ((siglen = unb64(sigtxt, sig, sizeof(sig))) != 64) {
        rc = malformed(path, 0, "the signature is not 64 bytes of base64", err);
        goto cleanup;
    }
    /* The public key, read before anything is split, then the signature over the bytes. */
    const char *pk = strstr(cp->text, "\npublic_key ");
    if (pk && pk < sl) {
        char b[128];
        const char *e = strchr(pk + 12, '\n');
        size_t n = e ? (size_t)(e - (pk + 12)) : 0;
        if (n > 0 && n < sizeof(b)) {
            memcpy(b, pk + 12, n);
            b[n] = '\0';
            have_pub = unb64(b, pub, sizeof(pub)) == 32;
        }
    }
    if (!have_pub) {
        rc = malformed(path, 0, "the public_key line is missing or not 32 bytes of base64", err);
        goto cleanup;
    }
    if (!signature_ok(pub, cp->text, signed_len, sig, (size_t)siglen)) {
        rc = stpm_error_set(err, STPM_EREFUSED, "checkpoint %s: the signature does not verify",
                            path);
        stpm_error_detail(err, "The file was changed after it was signed, or signed with "
                               "another key.");
        goto cleanup;
    }
    /* The lines before the signature. */
    int lineno = 0;
    for (char *p = cp->text; p < sl;) {
        char *e = memchr(p, '\n', (size_t)(sl - p));
        lineno++;
        if (!e)
            break;
        *e = '\0';
        if (strncmp(p, "head ", 5) == 0) {
            char *chain = p + 5, *sp1 = strchr(chain, ' '),
                 *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
            if (!sp1 || !sp2 || strlen(sp2 + 1) != 64) {
                rc = malformed(path, lineno, "a head line is `head CHAIN SEQ HASH`", err);
                goto cleanup;
            }
            if (cp->n == cap) {
                cap = cap ? 2 * cap : 1024;
                char **c2 = realloc(cp->chains, cap * sizeof(*c2));
                if (c2)
                    cp->chains = c2;
                long long *s2 = realloc(cp->seqs, cap * sizeof(*s2));
                if (s2)
                    cp->seqs = s2;
                char **h2 = realloc(cp->hashes, cap * sizeof(*h2));
                if (h2)
                    cp->hashes = h2;
                if (!c2 || !s2 || !h2) {
                    rc = stpm_error_set(err, STPM_ERROR, "out of memory");
                    goto cleanup;
                }
            }
            *sp1 = *sp2 = '\0';
            cp->chains[cp->n] = chain;
            cp->seqs[cp->n] = strtoll(sp1 + 1, NULL, 10);
            cp->hashes[cp->n] = sp2 + 1;
            cp->n++;
        } else if (strncmp(p, "made_at ", 8) == 0) {
            cp->made_at = p + 8;
        } else if (strncmp(p, "digest ", 7) == 0 && strlen(p + 7) == 64) {
            memcpy(want_digest, p + 7, 65);
        }
        p = e + 1;
    }
    if (!cp->made_at || !want_digest[0]) {
        rc = malformed(path, 0, "made_at and digest lines are required", err);
        goto cleanup;
    }
    if (pubkey_path) {
        if ((rc = pinned_key(pubkey_path, pin, err)) < 0)
            goto cleanup;
        if (memcmp(pin, pub, 32) != 0) {
            rc = stpm_error_set(err, STPM_EREFUSED,
                                "checkpoint %s was not signed with the key in %s", path,
                                pubkey_path);
            stpm_error_detail(err, "The checkpoint carries another public key: someone else "
                                   "made it, or it was replaced.");
            goto cleanup;
        }
    }
    /* The head lines were split in place; the digest covers them as written. */
    stpm_strbuf lines = STPM_STRBUF_INIT;
    for (size_t i = 0; i < cp->n; i++)
        stpm_strbuf_printf(&lines, "head %s %lld %s\n", cp->chains[i], cp->seqs[i], cp->hashes[i]);
    bool dig = !lines.oom && stpm_sha256_hex(stpm_strbuf_str(&lines), lines.len, digest);
    stpm_strbuf_free(&lines);
    if (!dig || strcmp(digest, want_digest) != 0) {
        rc = stpm_error_set(err, STPM_EREFUSED, "checkpoint %s: the digest of its heads differs",
                            path);
        goto cleanup;
    }
    *out = cp;
    cp = NULL;
cleanup:
    audit_checkpoint_free(cp);
    return rc;
}

int audit_checkpoint_check(stpm_db *db, const audit_checkpoint *cp, stpm_audit_verify_result *res,
                           stpm_error *err)
{
    int rc = 0;
    for (size_t at = 0; at < cp->n && rc == 0; at += CHECK_BATCH) {
        size_t end = at + CHECK_BATCH < cp->n ? at + CHECK_BATCH : cp->n;
        stpm_strbuf chains = STPM_STRBUF_INIT, seqs = STPM_STRBUF_INIT, hashes = STPM_STRBUF_INIT;
        PGresult *r = NULL;
        for (size_t i = at; i < end; i++) {
            char s[24];
            snprintf(s, sizeof(s), "%lld", cp->seqs[i]);
            stpm_strbuf_array_item(&chains, cp->chains[i]);
            stpm_strbuf_array_item(&seqs, s);
            stpm_strbuf_array_item(&hashes, cp->hashes[i]);
        }
        stpm_strbuf_array_end(&chains);
        stpm_strbuf_array_end(&seqs);
        stpm_strbuf_array_end(&hashes);
        if (chains.oom || seqs.oom || hashes.oom) {
            rc = stpm_error_set(err, STPM_ERROR, "out of memory");
        } else {
            const char *p[] = {chains.buf, seqs.buf, hashes.buf};
            rc = stpm_query(
                db,
                "SELECT c.chain, c.seq, c.hash, e.hash"
                " FROM unnest($1::text[], $2::bigint[], $3::text[]) AS c(chain, seq, hash)"
                " LEFT JOIN stpm.events e ON e.chain = c.chain AND e.seq = c.seq"
                " WHERE e.hash IS DISTINCT FROM c.hash ORDER BY c.chain",
                3, p, &r, "cannot check the checkpoint", err);
        }
        for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
            long long seq = strtoll(PQgetvalue(r, i, 1), NULL, 10);
            if (PQgetisnull(r, i, 3))
                stpm_audit_add_problem(res, PQgetvalue(r, i, 0), seq,
                                       "the checkpoint of %s recorded this event as the chain's "
                                       "head and it is gone: the chain was truncated or deleted",
                                       cp->made_at);
            else
                stpm_audit_add_problem(res, PQgetvalue(r, i, 0), seq,
                                       "hash %.16s… differs from %.16s… recorded by the "
                                       "checkpoint of %s: the chain was rewritten",
                                       PQgetvalue(r, i, 3), PQgetvalue(r, i, 2), cp->made_at);
        }
        res->checkpoint_heads += end - at;
        PQclear(r);
        stpm_strbuf_free(&chains);
        stpm_strbuf_free(&seqs);
        stpm_strbuf_free(&hashes);
    }
    return rc;
}
