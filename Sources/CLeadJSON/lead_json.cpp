#include "lead_json.h"

#include <simdjson.h>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

namespace {

/// Where a value sits in the lead, such as `company.name` or `products[2]`: kept as views into
/// the lead's keys and spelled out only for an error message, so reading a valid lead builds
/// no string and allocates nothing.
struct Path {
    const Path *parent = nullptr;
    std::string_view key;
    int32_t index = -1;

    std::string str() const {
        std::string text = parent ? parent->str() : std::string();
        if (index >= 0) return text + "[" + std::to_string(index) + "]";
        if (!text.empty() && !key.empty()) text += ".";
        return text + std::string(key);
    }
};

struct Reader {
    lj_lead *out;
    /// The document's buffer of unescaped strings, which the spans point into: copying each
    /// string out of it was a `memcpy` call apiece, about 17 a lead.
    const char *text;

    int fail(int code, const char *field, const std::string &message) {
        out->error_code = code;
        std::snprintf(out->error_field, sizeof out->error_field, "%s", field);
        std::snprintf(out->error_message, sizeof out->error_message, "%s", message.c_str());
        return code;
    }

    static const char *describe(element value) {
        switch (value.type()) {
        case element_type::ARRAY: return "an array";
        case element_type::OBJECT: return "an object";
        case element_type::INT64:
        case element_type::UINT64:
        case element_type::DOUBLE: return "a number";
        case element_type::STRING: return "a string";
        case element_type::BOOL: return "true or false";
        case element_type::NULL_VALUE: return "null";
        }
        return "something else";
    }

    int wrongType(const Path &at, const char *expected, element value) {
        std::string path = at.str();
        return fail(LJ_INVALID_FIELD, path.c_str(), path + " must be " + expected + ", got " + describe(value));
    }

    /// A string field; null leaves it absent. Tested for a string first, what it nearly always is.
    int string(element value, const Path &path, lj_span &span) {
        if (!value.is_string()) return value.is_null() ? LJ_OK : wrongType(path, "a string", value);
        std::string_view string = value.get_string().value_unsafe();
        span.start = static_cast<int32_t>(string.data() - text);
        span.length = static_cast<int32_t>(string.size());
        return LJ_OK;
    }

    /// A number field; null leaves it absent. Tested for a number first, what it nearly always is.
    int number(element value, const Path &path, int32_t &has, double &number) {
        if (!value.is_number()) return value.is_null() ? LJ_OK : wrongType(path, "a number", value);
        number = value.get_double().value_unsafe();
        has = 1;
        return LJ_OK;
    }

    /// Calls `each(i, value, path)` for every member whose key is `Known[i]`, refusing one given
    /// twice. The keys are compared one by one (the compiler makes that a switch on the length
    /// and a word or two compared) and each match goes straight to its own field's code, `i` a
    /// constant: a loop over the keys found an index that was then switched on a second time,
    /// about 8 instructions a member. One path serves all the members, its key set for each.
    template <const std::string_view *Known, size_t N, typename Each>
    int members(object obj, const Path &prefix, Each each) {
        return members<Known>(obj, prefix, each, std::make_index_sequence<N>());
    }

    template <const std::string_view *Known, typename Each, size_t... I>
    int members(object obj, const Path &prefix, Each each, std::index_sequence<I...>) {
        bool seen[sizeof...(I)] = {};
        Path path{&prefix};
        for (auto member : obj) {
            std::string_view key = member.key;
            int rc = LJ_OK;
            (void)((is<Known[I].size()>(key, Known[I].data()) &&
                    (path.key = key, rc = field(seen[I], path, std::integral_constant<size_t, I>(), member.value, each), true)) ||
                   ...);
            if (rc) return rc;
        }
        return LJ_OK;
    }

    /// Whether `key` is the `Size` bytes at `known`: a memcmp of a constant length, so inlined
    /// (`==` compares the shorter of the two lengths, which left calls to memcmp here).
    template <size_t Size>
    static bool is(std::string_view key, const char *known) {
        return key.size() == Size && std::memcmp(key.data(), known, Size) == 0;
    }

    /// A known member: refused if `seen` already, else read.
    template <typename Index, typename Each>
    int field(bool &seen, const Path &path, Index i, element value, Each &each) {
        if (seen) {
            std::string text = path.str();
            return fail(LJ_INVALID_FIELD, text.c_str(), text + " is given twice; give each field once");
        }
        seen = true;
        return each(i, value, path);
    }

    int company(element value, const Path &path) {
        if (value.is_null()) return LJ_OK;
        if (!value.is_object()) return wrongType(path, "an object", value);
        out->has_company = 1;
        static constexpr std::string_view known[] = {"name", "domain", "country", "region", "postal_code", "employees"};
        return members<known, std::size(known)>(value.get_object().value_unsafe(), path, [&](auto i, element v, const Path &p) {
            switch (i) {
            case 0: return string(v, p, out->company_name);
            case 1: return string(v, p, out->company_domain);
            case 2: return string(v, p, out->country);
            case 3: return string(v, p, out->region);
            case 4: return string(v, p, out->postal_code);
            default: return number(v, p, out->has_employees, out->employees);
            }
        });
    }

    int contact(element value, const Path &path) {
        if (value.is_null()) return LJ_OK;
        if (!value.is_object()) return wrongType(path, "an object", value);
        static constexpr std::string_view known[] = {"name", "email", "title", "phone"};
        lj_span ignored{-1, 0};
        return members<known, std::size(known)>(value.get_object().value_unsafe(), path, [&](auto i, element v, const Path &p) {
            return i == 1 ? string(v, p, out->contact_email) : string(v, p, ignored);
        });
    }

    int products(element value, const Path &path) {
        if (value.is_null()) return LJ_OK;
        if (!value.is_array()) return wrongType(path, "an array of strings", value);
        out->has_products = 1;
        int32_t index = 0;
        for (element item : value.get_array().value_unsafe()) {
            Path itemPath{&path, {}, index};
            if (index >= LJ_MAX_PRODUCTS) {
                std::string text = path.str();
                return fail(LJ_INVALID_FIELD, text.c_str(), text + " may list at most " + std::to_string(LJ_MAX_PRODUCTS) + " products");
            }
            if (!item.is_string()) return wrongType(itemPath, "a string", item);
            if (int rc = string(item, itemPath, out->products[index])) return rc;
            index++;
        }
        out->product_count = index;
        return LJ_OK;
    }

    int qualification(element value, const Path &path) {
        if (value.is_null()) return LJ_OK;
        if (!value.is_object()) return wrongType(path, "an object", value);
        out->has_qualification = 1;
        static constexpr std::string_view known[] = {"need", "budget", "currency", "authority", "timeline_days"};
        return members<known, std::size(known)>(value.get_object().value_unsafe(), path, [&](auto i, element v, const Path &p) {
            switch (i) {
            case 0: return string(v, p, out->need);
            case 1: return number(v, p, out->has_budget, out->budget);
            case 2: return string(v, p, out->currency);
            case 3: return string(v, p, out->authority);
            default: return number(v, p, out->has_timeline_days, out->timeline_days);
            }
        });
    }

    int lead(element root) {
        if (!root.is_object()) {
            return fail(LJ_INVALID_JSON, "", std::string("a lead must be a JSON object, got ") + describe(root));
        }
        static constexpr std::string_view known[] = {"lead_id", "source", "kind", "received_at", "company", "contact",
                                            "products", "qualification", "estimated_value"};
        lj_span ignored{-1, 0};
        Path top;
        return members<known, std::size(known)>(root.get_object().value_unsafe(), top, [&](auto i, element v, const Path &p) {
            switch (i) {
            case 0: return string(v, p, out->lead_id);
            case 1: return string(v, p, out->source);
            case 2: return string(v, p, out->kind);
            case 3: return string(v, p, out->received_at);
            case 4: return company(v, p);
            case 5: return contact(v, p);
            case 6: return products(v, p);
            case 7: return qualification(v, p);
            default: return number(v, p, out->has_estimated_value, out->estimated_value);
            }
        });
        (void)ignored;
    }
};

static_assert(LJ_PADDING >= simdjson::SIMDJSON_PADDING, "LJ_PADDING must cover simdjson's padding");

/// Clears what a parse fills in: not the products past `product_count` nor the room for an
/// error message, which a failure writes (the whole result, about 1 KB, was a memset a lead).
void clear(lj_lead *out) {
    std::memset(out, 0, offsetof(lj_lead, products));
    std::memset(reinterpret_cast<char *>(out) + offsetof(lj_lead, has_qualification), 0,
                offsetof(lj_lead, error_field) - offsetof(lj_lead, has_qualification));
    out->error_field[0] = 0;
    out->error_message[0] = 0;
    lj_span *spans[] = {&out->lead_id, &out->source, &out->kind, &out->received_at, &out->company_name,
                        &out->company_domain, &out->country, &out->region, &out->postal_code, &out->contact_email,
                        &out->need, &out->currency, &out->authority};
    for (lj_span *span : spans) span->start = -1;
}

}  // namespace

extern "C" int lj_parse_lead(const uint8_t *data, size_t len, int padded, lj_lead *out) {
    clear(out);
    thread_local simdjson::dom::parser parser;
    element root;
    auto error = parser.parse(data, len, padded == 0).get(root);
    out->text = reinterpret_cast<const char *>(parser.doc.string_buf.get());
    Reader reader{out, out->text};
    if (error) {
        return reader.fail(LJ_INVALID_JSON, "", std::string("not valid JSON: ") + simdjson::error_message(error));
    }
    return reader.lead(root);
}
