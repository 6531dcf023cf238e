/* humanoid_rt's build configuration for the vendored SOEM (third_party/soem).
 *
 * SOEM includes this header when built with USE_SOEM_CONFIG_H (ethercattype.h), in place of
 * its compile-time timeout constants; the SOEM sources stay unmodified. The timeouts become
 * process-wide variables so a bus can lengthen them before bring-up: a software slave (the
 * virtual line in drivers/ethercat/virtual_slave) can answer later than an ESC does, and a datagram
 * that SOEM re-sends after a timeout can return twice and be matched to a later request. */
#ifndef HUMANOID_RT_SOEM_CONFIG_H
#define HUMANOID_RT_SOEM_CONFIG_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int ret;         /* us for a frame to return (SOEM default 2000) */
  int safe;        /* us, "safe" variant (20000) */
  int eeprom;      /* us for an EEPROM access (20000) */
  int tx_mailbox;  /* us for a mailbox write cycle (20000) */
  int rx_mailbox;  /* us for a mailbox read cycle (700000) */
  int state;       /* us for a state change check (2000000) */
} humanoid_rt_soem_timeouts_t;

/* Written only at configuration time (before any bus is configured), read by SOEM. */
extern humanoid_rt_soem_timeouts_t humanoid_rt_soem_timeouts;

#ifdef __cplusplus
}
#endif

#define EC_TIMEOUTRET (humanoid_rt_soem_timeouts.ret)
#define EC_TIMEOUTRET3 (EC_TIMEOUTRET * 3)
#define EC_TIMEOUTSAFE (humanoid_rt_soem_timeouts.safe)
#define EC_TIMEOUTEEP (humanoid_rt_soem_timeouts.eeprom)
#define EC_TIMEOUTTXM (humanoid_rt_soem_timeouts.tx_mailbox)
#define EC_TIMEOUTRXM (humanoid_rt_soem_timeouts.rx_mailbox)
#define EC_TIMEOUTSTATE (humanoid_rt_soem_timeouts.state)

#endif
