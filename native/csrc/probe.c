#include "probe.h"
int edgepbx_native_abi(void) { return 1; }
