// Labelled images from a folder with one subfolder per class (the ImageFolder layout):
// ROOT/<class>/<image>.{png,jpg,jpeg,bmp,gif,tga,ppm,pgm}, decoded with stb_image (Debian's
// libstb). Classes are the subfolder names in sorted order.
#ifndef TRIBUTARY_DATA_IMAGE_FOLDER_H_
#define TRIBUTARY_DATA_IMAGE_FOLDER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/labeled_arrays.h"

namespace tributary {

// Every image must have the size of the first one. Values are scaled to [0, 1], laid out
// [channels, height, width]. `classes` and `channels`, when set on entry (a test split after its
// training split), must be the folder's classes and are the channel count to decode to;
// otherwise they are filled from the folder: its class names, and one channel when the first
// image is grey (with or without alpha), three when it is in colour (alpha dropped).
absl::StatusOr<LabeledArrays> ReadImageFolder(const std::string& root,
                                              std::vector<std::string>* classes, int* channels);

}  // namespace tributary

#endif  // TRIBUTARY_DATA_IMAGE_FOLDER_H_
