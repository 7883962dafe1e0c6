// Operator page files: one small regular file each, read whole once at startup.
#include "platform/error_page_files.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/pages.h"

namespace coinpay {
namespace {

Result<std::string> ReadPage(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return Error{Errc::kConfig, "cannot read " + path + " (" + std::strerror(errno) +
                                    "): name an HTML file readable when httpd starts (a "
                                    "relative name is under ServerRoot)"};
  }
  if (!S_ISREG(st.st_mode)) {
    return Error{Errc::kConfig, path + " is not a regular file: name an HTML file"};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{Errc::kConfig, "cannot read " + path + " (" + std::strerror(errno) +
                                    "): make it readable by the user that starts httpd"};
  }
  std::string text(kMaxErrorPageBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) {
    return Error{Errc::kConfig, "cannot read " + path + " (read error)"};
  }
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxErrorPageBytes) {
    return Error{Errc::kConfig, path +
                                    " is larger than 64 KiB: an error page must be one small "
                                    "file (link its images and styles instead of inlining them)"};
  }
  if (text.empty()) {
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
