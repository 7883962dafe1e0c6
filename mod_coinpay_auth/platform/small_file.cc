#include "platform/small_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace coinpay {

Result<std::string> ReadSmallFile(const std::string& path, std::string_view what,
                                  std::string_view too_large) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return Error{Errc::kConfig, "cannot read " + path + " (" + std::strerror(errno) + "): name " +
                                    std::string(what) +
                                    " readable when httpd starts (a relative name is under "
                                    "ServerRoot)"};
  }
  if (!S_ISREG(st.st_mode)) {
    return Error{Errc::kConfig, path + " is not a regular file: name " + std::string(what)};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{Errc::kConfig, "cannot read " + path + " (" + std::strerror(errno) +
                                    "): make it readable by the user that starts httpd"};
  }
  std::string text(kMaxSmallFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) {
    return Error{Errc::kConfig, "cannot read " + path + " (read error)"};
  }
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxSmallFileBytes) {
    return Error{Errc::kConfig, path + " is larger than 64 KiB: " + std::string(too_large)};
  }
  return text;
}

}  // namespace coinpay
