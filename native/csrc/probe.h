int edgepbx_native_abi(void);
