// Shared-memory test helpers for the ShmStore tests: a MAP_SHARED region as apr_shm gives httpd,
// and forked children whose exit code says what they saw.
#pragma once

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <functional>

namespace coinpay::testing {

// A MAP_SHARED anonymous mapping, as apr_shm gives httpd: forked children see the same bytes.
class SharedMapping {
 public:
  explicit SharedMapping(size_t size) : size_(size) {
    base_ = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (base_ == MAP_FAILED) {
      base_ = nullptr;
    }
  }
  ~SharedMapping() {
    if (base_ != nullptr) {
      munmap(base_, size_);
    }
  }
  SharedMapping(const SharedMapping&) = delete;
  SharedMapping& operator=(const SharedMapping&) = delete;

  void* base() const { return base_; }
  size_t size() const { return size_; }

 private:
  void* base_;
  size_t size_;
};

// Runs `body` in a child process; the child's exit code is body's return value.
inline pid_t RunInChild(const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid == 0) {
    _exit(body());
  }
  return pid;
}

inline int WaitForExitCode(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
    return -1;
  }
  return WEXITSTATUS(status);
}

}  // namespace coinpay::testing
