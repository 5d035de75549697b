// libgomp's default wait policy spins at barriers. On a machine with more runnable threads than
// cores every parallel region then costs a scheduler time slice: measured at load 13 on 2 cores,
// `mpq demo --quick` took 232 s spinning and 40 s with OMP_WAIT_POLICY=passive (fp32 latency
// 218 ms vs 29 ms). libgomp reads the variable when it is loaded, so a command that times
// engines runs itself again with it set: only when the user has not chosen a policy and the
// machine is busy. The re-executed process sees MPQ_SET_WAIT_POLICY=1 (reports say so).
#pragma once

namespace mpq::cli {

// Re-executes this process with OMP_WAIT_POLICY=passive when the 1-minute load average exceeds
// the cores and OMP_WAIT_POLICY is unset; returns (changing nothing) otherwise or if exec fails.
void rerun_with_passive_wait_if_busy();
// True when this process was re-executed by rerun_with_passive_wait_if_busy().
bool wait_policy_set_by_mpq();

}  // namespace mpq::cli
