"""`aigw local`: the whole gateway on localhost, a thin layer over the offline runtime
(`aigw.local`), which knows nothing of it: the development tenant, the AI providers, the
gateway's banner lines (`command`), the gateway's jobs across restarts (`jobs`), its child
process (`process`) and the test helpers that talk to it (`testing`)."""
