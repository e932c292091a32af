// A user's own labelled data as an experiment's data: data.dataset = "npz", "csv" or
// "image_folder", read from data.path (and data.test_path). One pipeline serves the three
// formats: a held-out test split when the files have none, checks, standardization, tensors,
// partitions.
#ifndef TRIBUTARY_ENGINE_DATASETS_LABELED_FILE_DATASET_H_
#define TRIBUTARY_ENGINE_DATASETS_LABELED_FILE_DATASET_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "data/labeled_arrays.h"
#include "engine/dataset.h"

namespace tributary {

// What a format's reader returns: the training examples and, when the files hold one, a test
// split.
struct LabeledSplits {
  LabeledArrays train;
  std::optional<LabeledArrays> test;
};

// The checks every file dataset makes: data.path is set (`what` says what it should be), and a
// test split exists or data.test_fraction can hold one out.
absl::Status ValidateDataFiles(const FileDataOptions& files, std::string_view dataset,
                               std::string_view what);

// npz: arrays x and y (and x_test, y_test when present; else data.test_path's x and y); the
// owner array is data.client_column ("client") or "group" when present.
absl::StatusOr<LabeledSplits> ReadNpzSplits(const FileDataOptions& files);
// csv: data.label_column and optional data.client_column; the rest are features.
absl::StatusOr<LabeledSplits> ReadCsvSplits(const FileDataOptions& files);
// image_folder: data.path/<class>/<image>, test split data.test_path with the same classes.
absl::StatusOr<LabeledSplits> ReadImageFolderSplits(const FileDataOptions& files);

class LabeledFileDataset final : public Dataset {
 public:
  using Reader = absl::StatusOr<LabeledSplits> (*)(const FileDataOptions&);
  LabeledFileDataset(std::string name, Reader reader) : name_(std::move(name)), reader_(reader) {}

  std::string_view name() const override { return name_; }
  bool text() const override { return false; }
  absl::Status Validate(const ExperimentConfig& config) const override;
  // Examples [N, features] for one-dimensional examples, [N, 1, H, W] for two-dimensional ones
  // and [N, C, H, W] for three; labels 0..K-1 give K classes. With partition = natural the owner
  // column decides who holds what.
  absl::StatusOr<ExperimentData> Load(const ExperimentConfig& config) const override;

 private:
  std::string name_;
  Reader reader_;
};

}  // namespace tributary

#endif  // TRIBUTARY_ENGINE_DATASETS_LABELED_FILE_DATASET_H_
