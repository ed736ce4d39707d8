/* SoftHSM2 2.6.1 leaks 37 bytes per CKM_EDDSA C_Sign (an ASN.1 string of
 * its key decoding; pkcs11-tool --sign -m EDDSA shows the same leak under
 * LeakSanitizer).  Programs that sign in a SoftHSM2 token (the pkcs11
 * tests, veil-bench) have this file among their sources: the leak is
 * suppressed by the module's name, which LeakSanitizer knows because the
 * pkcs11 vault keeps modules mapped (RTLD_NODELETE), and which is in the
 * stack only with the slow unwinder (SoftHSM2 and libcrypto keep no frame
 * pointers).  Read only by sanitizer builds. */
#define P11_SAN_EXPORT __attribute__((visibility("default")))

P11_SAN_EXPORT const char *__lsan_default_suppressions(void);
P11_SAN_EXPORT const char *__lsan_default_suppressions(void)
{
    return "leak:libsofthsm2.so\n";
}

P11_SAN_EXPORT const char *__asan_default_options(void);
P11_SAN_EXPORT const char *__asan_default_options(void)
{
    return "fast_unwind_on_malloc=0";
}
