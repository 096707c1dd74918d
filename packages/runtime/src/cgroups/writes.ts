/** A value to write into a cgroup file, and the controller whose hierarchy holds the file. */
export interface CgroupWrite {
  controller: string;
  file: string;
  value: string;
  /** The file to write instead where `file` does not exist (blkio.bfq.weight under BFQ). */
  otherwise?: string;
  /** The field of linux.resources it comes from, where the file's name does not say it. */
  field?: string;
}

export const write = (controller: string, file: string, value: string | number, otherwise?: string): CgroupWrite => ({
  controller,
  file,
  value: String(value),
  ...(otherwise && { otherwise }),
});

/** "8:0" from a device entry. */
export const deviceNumber = (d: { major: number; minor: number }) => `${d.major}:${d.minor}`;
