/* veil — common macros shared by every public header. */
#ifndef VEIL_COMMON_H
#define VEIL_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define VEIL_BEGIN_DECLS extern "C" {
#define VEIL_END_DECLS }
#else
#define VEIL_BEGIN_DECLS
#define VEIL_END_DECLS
#endif

/* Symbols of libveil and the single entry symbol of each plugin are the only
 * exported names; everything else is built with -fvisibility=hidden. */
#define VEIL_EXPORT __attribute__((visibility("default")))
/* Anything that can fail returns an int the caller must look at. */
#define VEIL_WUR __attribute__((warn_unused_result))
#define VEIL_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* The opaque handles that more than one header names, declared once here:
 * a typedef repeated in a second header is an error in C99 (a C11 feature)
 * and warns under -pedantic.  tests/system/headers.sh compiles every
 * public header alone as C99 -pedantic and as C++. */
typedef struct veil_node veil_node;
typedef struct veil_context veil_context;
typedef struct veil_config veil_config;
typedef struct veil_entity veil_entity;
typedef struct veil_plugin veil_plugin;

#endif
