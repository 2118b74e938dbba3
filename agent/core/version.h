/*
 * version.h — the agent's version string (--version, the UI hello, User-Agent).
 */
#ifndef LJ_AGENT_VERSION_H
#define LJ_AGENT_VERSION_H
#define LJ_VERSION "0.1.0"
/*
 * The User-Agent of every request to login and DRS (Intune gets ENROLLClient).
 * Conditional Access picks the device platform from the User-Agent of the
 * client that redeems the grant (Gerenios/AADInternals #39: the same device
 * code flow was "device must be managed" with PowerShell's Windows UA and
 * passed with curl's; dirkjanm/ROADtools #105), and a UA it cannot place is
 * platform "Unknown", which "block unknown platforms" policies refuse with
 * AADSTS50005 (hashicorp/terraform-provider-azuread #586).  The device
 * registers as DeviceType Windows with a Windows OSVersion and enrolls as a
 * Windows device, so it presents the Windows platform, the one policies for
 * Windows 365 Link target.  README.md "Sign-in and the User-Agent".
 */
#define LJ_USER_AGENT "Mozilla/5.0 (Windows NT 10.0; Win64; x64) linkjoin/" LJ_VERSION
#endif
