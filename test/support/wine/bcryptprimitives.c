/*
 * Test support only, never shipped. The Bun runtime for Windows takes its random bytes from
 * bcryptprimitives.dll's ProcessPrng, which Wine 8 (Debian 12) does not have. This stand-in fills the
 * buffer through advapi32's SystemFunction036 (RtlGenRandom), which Wine has. Placed beside the exe,
 * it is loaded instead of the missing system DLL.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
  while (length > 0) {
    ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
    if (!SystemFunction036(data, chunk)) return FALSE;
    data += chunk;
    length -= chunk;
  }
  return TRUE;
}
