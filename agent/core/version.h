/*
 * version.h — the agent's version string (--version, the UI hello, User-Agent).
 */
#ifndef LJ_AGENT_VERSION_H
#define LJ_AGENT_VERSION_H
#define LJ_VERSION "0.1.0"
#endif
