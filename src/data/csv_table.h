// Labelled examples from a CSV file: a header row naming the columns, then one example per row;
// every column but the label (and the optional client column) is a numeric feature.
#ifndef TRIBUTARY_DATA_CSV_TABLE_H_
#define TRIBUTARY_DATA_CSV_TABLE_H_

#include <string>

#include "absl/status/statusor.h"
#include "data/labeled_arrays.h"

namespace tributary {

// Rows are streamed; errors name the file and line (ragged rows, non-numeric or non-integral
// labels, missing label column). `client_column` is used when the header has it.
absl::StatusOr<LabeledArrays> ReadLabeledCsv(const std::string& path,
                                             const std::string& label_column,
                                             const std::string& client_column);

}  // namespace tributary

#endif  // TRIBUTARY_DATA_CSV_TABLE_H_
