/* See soem_config.h: SOEM's default timeouts, as variables. */
#include "soem_config.h"

humanoid_rt_soem_timeouts_t humanoid_rt_soem_timeouts = {2000, 20000, 20000, 20000, 700000, 2000000};
