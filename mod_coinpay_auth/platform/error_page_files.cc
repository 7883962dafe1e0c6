// Operator page files: one small regular file each, read whole once at startup.
#include "platform/error_page_files.h"

#include "core/pages.h"
#include "platform/small_file.h"

namespace coinpay {
namespace {

Result<std::string> ReadPage(const std::string& path) {
  auto text = ReadSmallFile(path, "an HTML file",
                            "an error page must be one small file (link its images and styles "
                            "instead of inlining them)");
  if (!text) {
    return text;
  }
  if (text->empty()) {
    return Error{Errc::kConfig, path + " is empty: write the page into it, or remove the line"};
  }
  return text;
}

}  // namespace

Result<std::string> ReadErrorTemplate(const std::string& path) {
  auto text = ReadPage(path);
  if (!text) {
    return text;
  }
  if (auto bad = CheckErrorTemplate(*text)) {
    return Error{Errc::kConfig, path + " " + *bad};
  }
  return text;
}

Status AddErrorPageFile(std::string_view kind, const std::string& path,
                        std::vector<std::pair<std::string, std::string>>& pages) {
  if (!ErrorKindNamed(kind)) {
    return Error{Errc::kConfig, "does not know the error kind \"" +
                                    std::string(kind.substr(0, 40)) + "\"; write one of " +
                                    ErrorKindNames()};
  }
  for (const auto& [existing, page] : pages) {
    if (existing == kind) {
      return Error{Errc::kConfig,
                   "names " + std::string(kind) + " twice; keep one line per error kind"};
    }
  }
  auto text = ReadPage(path);
  if (!text) {
    return text.error();
  }
  if (auto bad = CheckErrorPage(*text)) {
    return Error{Errc::kConfig, path + " " + *bad};
  }
  pages.emplace_back(std::string(kind), std::move(*text));
  return OkStatus();
}

}  // namespace coinpay
