// Which rank owns each client of a population: trains it whenever it is sampled and keeps its
// state (error-feedback residual, control variate, optimizer state) for the whole run.
//
// The assignment is fixed for a run, a function of the clients' expected costs and the rank
// count alone, so every rank computes the same one without talking. It balances the ranks'
// total expected cost with the longest-processing-time-first rule (Graham 1969): clients in
// decreasing cost (ties: lower id first) each go to the least loaded rank (ties: lower rank),
// within 4/3 of the best possible maximum load. A round's cohort is a random sample of the
// population, so each rank's share of a round is balanced only on average.
#ifndef TRIBUTARY_DIST_CLIENT_OWNERSHIP_H_
#define TRIBUTARY_DIST_CLIENT_OWNERSHIP_H_

#include <span>
#include <vector>

namespace tributary {

// The owning rank of each client. Requires: ranks >= 1, every cost finite and >= 0.
std::vector<int> AssignClientsToRanks(std::span<const double> costs, int ranks);

}  // namespace tributary

#endif  // TRIBUTARY_DIST_CLIENT_OWNERSHIP_H_
