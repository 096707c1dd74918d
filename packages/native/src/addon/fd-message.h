// One fd passed over a unix socket (SCM_RIGHTS): a message of some data with room for one fd
// beside it, to send (Attach) or to receive into (ReceivedFd).
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstring>

namespace oci {

class FdMessage {
 public:
  FdMessage(void *data, size_t size) : io_{data, size} {
    header_.msg_iov = &io_;
    header_.msg_iovlen = 1;
    header_.msg_control = control_;
    header_.msg_controllen = sizeof control_;
  }
  // The header points into this object: it must not be copied or moved.
  FdMessage(const FdMessage &) = delete;
  FdMessage &operator=(const FdMessage &) = delete;

  // For sendmsg() and recvmsg().
  struct msghdr *header() { return &header_; }

  // Puts `fd` into the message, to be sent with its data.
  void Attach(int fd) {
    struct cmsghdr *control = CMSG_FIRSTHDR(&header_);
    control->cmsg_level = SOL_SOCKET;
    control->cmsg_type = SCM_RIGHTS;
    control->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(control), &fd, sizeof fd);
  }

  // The fd a message received (recvmsg returned `received`) carried, or -1 when it carried none.
  int ReceivedFd(ssize_t received) {
    struct cmsghdr *control = received >= 0 ? CMSG_FIRSTHDR(&header_) : nullptr;
    if (!control || control->cmsg_level != SOL_SOCKET || control->cmsg_type != SCM_RIGHTS) return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(control), sizeof fd);
    return fd;
  }

 private:
  struct iovec io_;
  char control_[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr header_ = {};
};

}  // namespace oci
