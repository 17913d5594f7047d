// PLACEHOLDER: being written by a helper; replaced wholesale. Claims nothing, so the registry never runs it.
import type { Detector } from './types.js';

export const cmsDetector: Detector = {
  format: 'cms',
  description: 'placeholder',
  claims: {},
  detect: () => [],
};
