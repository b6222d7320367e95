// A strict, fast reader of LeadRouter lead JSON (simdjson DOM), for Swift via a C API.
// It validates the whole document (grammar and UTF-8), checks the types of the known
// fields, rejects a known key given twice, and copies out the fields routing needs.
// Value rules (lengths, codes, ranges) are left to the Swift caller.
#ifndef LEADROUTER_LEAD_JSON_H
#define LEADROUTER_LEAD_JSON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    LJ_OK = 0,
    LJ_INVALID_JSON = 1,
    LJ_INVALID_FIELD = 3,
};

#define LJ_MAX_PRODUCTS 64

/// A string, unescaped, at `start` bytes past `lj_lead.text`; start < 0: absent or null.
typedef struct {
    int32_t start;
    int32_t length;
} lj_span;

typedef struct {
    /// Where the spans' strings are: the parser's own buffer of unescaped strings, valid until
    /// the next lj_parse_lead on the same thread.
    const char *text;
    lj_span lead_id, source, kind, received_at;
    int32_t has_company;
    lj_span company_name, company_domain, country, region, postal_code;
    int32_t has_employees;
    double employees;
    lj_span contact_email;
    int32_t has_products;
    int32_t product_count;
    lj_span products[LJ_MAX_PRODUCTS];
    int32_t has_qualification;
    lj_span need, currency, authority;
    int32_t has_budget, has_timeline_days, has_estimated_value;
    double budget, timeline_days, estimated_value;
    // On failure: LJ_INVALID_JSON or LJ_INVALID_FIELD, the field path, and a message.
    int32_t error_code;
    char error_field[96];
    char error_message[320];
} lj_lead;

/// Bytes that may be read past the end of a document parsed in place (simdjson's padding):
/// they must be allocated, whatever they hold.
#define LJ_PADDING 64

/// Parses `len` bytes of lead JSON. Returns LJ_OK, or an error code with `out->error_*`
/// filled in (`error_field` and `error_message` are left as they were on success, and
/// `products` past `product_count`). Thread-safe: each thread uses its own parser, whose
/// buffer `out->text` is. `padded`: `data` has LJ_PADDING more bytes allocated after `len`,
/// so it is read in place instead of copied first.
int lj_parse_lead(const uint8_t *data, size_t len, int padded, lj_lead *out);

#ifdef __cplusplus
}
#endif

#endif
