/* The layout of tokenstore.h's structs as the C compiler computes it, for the Swift parity
 * tests (Tests/TokenStoreTests/CBoundary) to compare with what Swift imports. */
#ifndef TOKENSTORE_LAYOUT_H
#define TOKENSTORE_LAYOUT_H

#include <stddef.h>

/** One field of a header struct: its offsetof and sizeof, and its struct's sizeof. */
typedef struct ts_layout_field {
    const char *type;   /**< The struct, e.g. "ts_options". */
    const char *field;  /**< The field, e.g. "shards". */
    size_t offset;      /**< offsetof(type, field). */
    size_t size;        /**< sizeof of the field. */
    size_t type_size;   /**< sizeof(type). */
} ts_layout_field;

/** Every field of every struct of tokenstore.h, in declaration order; *count receives how many. */
const ts_layout_field *ts_layout_fields(size_t *count);

#endif
